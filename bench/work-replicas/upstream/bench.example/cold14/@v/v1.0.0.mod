module bench.example/cold14

go 1.21
