module bench.example/cold6

go 1.21
