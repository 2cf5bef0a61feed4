module bench.example/cold21

go 1.21
