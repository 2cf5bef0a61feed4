module bench.example/cold200

go 1.21
