module bench.example/cold180

go 1.21
